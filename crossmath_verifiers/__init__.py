"""crossmath's taskset under verifiers 0.4's id ``crossmath-verifiers``: verifiers 0.4 imports a taskset id as a
top-level module and takes the ``Taskset`` and ``Harness`` it exports. The harness is verifiers' tool-less chat
(``null``): a puzzle wants one reply, not the ``bash`` agent verifiers would otherwise pick."""

from verifiers.v1.harnesses.null import NullHarness

from crossmath.integrations.verifiers.v1 import CrossmathTaskset

__all__ = ["CrossmathTaskset", "NullHarness"]
