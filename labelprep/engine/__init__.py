"""Where the passes over the rows run: here (the local engine, :mod:`labelprep.pipeline`)
or on a Dask cluster (:mod:`labelprep.engine.dask_run`), with the same results.

:class:`Engine` names the engine and its cluster (the ``engine``, ``scheduler`` and
``workers`` parameters of the public functions). Dask is imported only when a cluster is
used (``pip install 'labelprep[dask]'``).
"""

from labelprep.engine.cluster import (
    ENGINES,
    ClusterError,
    Engine,
    EngineName,
    require_dask,
)

__all__ = [
    "ENGINES",
    "ClusterError",
    "Engine",
    "EngineName",
    "require_dask",
]
