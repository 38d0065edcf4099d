"""lmms-eval's plugin hook for models: with ``LMMS_EVAL_PLUGINS=crossmath`` lmms-eval imports ``crossmath.models``
as well as ``crossmath.tasks``, and registers the models this names. crossmath brings tasks only, no models."""

AVAILABLE_MODELS: dict[str, str] = {}
