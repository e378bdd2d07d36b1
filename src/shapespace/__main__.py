import sys

from shapespace.cli.main import main

sys.exit(main())
