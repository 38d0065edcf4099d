"""Adapters for the reinforcement-learning libraries people already use; each is an optional extra, imported only
when named (``import crossmath.integrations.reasoning_gym``), never by ``import crossmath``."""
