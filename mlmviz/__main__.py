import sys

from mlmviz.cli import main

sys.exit(main())
