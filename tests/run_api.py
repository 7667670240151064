#!/usr/bin/env python3
"""run_api.py - runs the black-box test suites against a build of crmd and crmctl.

    python3 tests/run_api.py --build build [--suite api|cli] [-k PATTERN]

Each test module in tests/<suite>/test_*.py starts its own crmd on a free loopback port
with a temporary database (see tests/harness.py). Exit status 0 when everything passed.
"""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--suite", default="api", choices=["api", "cli"])
    parser.add_argument("-k", dest="pattern", default=None, help="only tests matching this")
    parser.add_argument("-v", dest="verbose", action="store_true")
    args = parser.parse_args()
    os.environ["CRM_BUILD"] = os.path.abspath(args.build)
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = ["*%s*" % args.pattern]
    suite = loader.discover(os.path.join(HERE, args.suite), pattern="test_*.py",
                            top_level_dir=os.path.join(HERE, args.suite))
    result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
