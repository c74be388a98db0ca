"""The WeChat edge: inbound parsing, signatures and encryption, reply rendering, the API client and its fake."""
