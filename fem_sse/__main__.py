"""``python -m fem_sse`` is the ``fem-sse`` command."""

import sys

from fem_sse.app.cli import main

sys.exit(main())
