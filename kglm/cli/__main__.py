import sys

from kglm.cli import main

sys.exit(main())
