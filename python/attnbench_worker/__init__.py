"""attnbench worker: runs fully planned attention jobs and chooses nothing (see ../PROTOCOL.md).

Imports only the standard library at module level; torch, triton and jax are imported lazily by
the kernels that need them, so protocol, validation and file mode work without them.
"""

from .tables import PROTOCOL_VERSION  # noqa: E402,F401 - shared with TypeScript (tables.json)
__version__ = "0.1.0"
