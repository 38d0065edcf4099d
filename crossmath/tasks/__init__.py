"""crossmath's lmms-eval task package: one task per image style and modality, a shared template, and hooks.

The YAML files in this folder are lmms-eval tasks (``crossmath_<style>_<modality>``, tags ``crossmath_<modality>``
and the group ``crossmath``); ``hooks.py`` holds the functions they name. lmms-eval finds them with
``--include_path`` pointing here, or with ``LMMS_EVAL_PLUGINS=crossmath`` (it imports ``crossmath.tasks`` and reads
this folder). Nothing here is imported by the rest of crossmath.
"""

from pathlib import Path

TASKS_DIR = Path(__file__).parent
"""The folder to give lmms-eval as ``--include_path``."""
