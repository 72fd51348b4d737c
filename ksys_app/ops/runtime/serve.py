"""Run the exported dashboard in production mode on one port without rebuilding.

Started by `ksys serve` (after build_frontend) from the project root. This is the
call `reflex run --env prod` makes after its own build, minus the rebuild.
"""

import argparse

from reflex_base import constants
from reflex_base.environment import environment


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="0.0.0.0")
    args = parser.parse_args()
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)

    from reflex.istate.manager import reset_disk_state_manager
    from reflex.utils import exec as rx_exec

    reset_disk_state_manager()
    # Reflex serves with Granian here (no uvicorn/gunicorn installed): its worker count is
    # GRANIAN_WORKERS, which `ksys serve` sets from KSYS_WORKERS (1 without KSYS_REDIS_URL).
    rx_exec.run_backend_prod(args.host, args.port, constants.LogLevel.WARNING, mount_frontend_compiled_app=True)


if __name__ == "__main__":
    main()
