"""The transports: REST (``POST /v1``) and WebSocket (``GET /v1``), bytes <-> task arrays and reply
envelopes. Both hand every task array to the one backend (``mockserver.backends``) through
``mockserver.exchange``, so journal and faults see both alike."""
