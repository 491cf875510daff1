"""The core: what every store is built from, importing no other part of vidmock.

Where "now" comes from (``clock``), the one source of randomness (``ids``), how a store forgets a
namespace (``namespaces``), expiry times in a heap (``expiry``) and a setting chosen per task, else
per namespace, else server-wide (``layered``)."""
