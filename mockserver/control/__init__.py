"""The control plane: journal, faults, scenarios, virtual clock and the ``/__mock/`` API.

It wraps the dispatcher and the transports (see ``ControlPlane`` and ``install``); task handlers
never learn it exists.
"""
