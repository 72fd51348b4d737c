import sys

from ksys_app.ops.cli import main

sys.exit(main())
