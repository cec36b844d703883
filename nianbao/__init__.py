"""The application shell: the ``nianbao`` command (``cli``), the scheduler (``schedule``), the demo."""
