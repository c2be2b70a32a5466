"""Live search endpoints as rankers: a production engine (Elasticsearch, OpenSearch, Solr, Vespa,
or any JSON HTTP API) queried at request time and ranked beside the corpus's own models.

spec: the configuration (TOML, presets, templates, JMESPath mapping, secrets named by
environment variable); client: the HTTP calls (timeout, rate limit, concurrency, retries);
registry: the endpoints of a corpus and their cached answers; ranker: `endpoint:NAME`.
"""

from __future__ import annotations

from ranklens.ranking.endpoints.client import EndpointError, MappingError, fetch
from ranklens.ranking.endpoints.ranker import EndpointRanker, endpoint_rankers, snapshot_info
from ranklens.ranking.endpoints.registry import EndpointStore
from ranklens.ranking.endpoints.spec import PREFIX, PRESETS, EndpointSpec, parse_spec, read_spec

__all__ = [
    "PREFIX",
    "PRESETS",
    "EndpointError",
    "EndpointRanker",
    "EndpointSpec",
    "EndpointStore",
    "MappingError",
    "endpoint_rankers",
    "fetch",
    "parse_spec",
    "read_spec",
    "snapshot_info",
]
