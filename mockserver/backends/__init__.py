"""What stands behind the transports (the ``Backend`` protocol itself lives with ``RequestContext``
in ``mockserver.exchange``, which both sides import).

Both transports hand every task array to one backend and put the ``Reply`` it returns on the wire;
the journal and the faults sit around that call (``mockserver.exchange``), so any backend gets them
for free. ``mockserver.backends.mock`` is the mock itself; ``proxy`` forwards to a real upstream
and judges the traffic (``vidmock proxy``); ``replay`` answers from a recording of such traffic
(``vidmock serve --replay``). The composition root picks one (``mockserver.app.create_app``).
What every backend answers the same way, the API's rules for a socket that has not authenticated,
is ``policy``.
"""
