"""``python -m meetergo_pipeline.webhooks serve ...``"""

import sys

from meetergo_pipeline.webhooks.cli import main

sys.exit(main())
