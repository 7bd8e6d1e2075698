#!/bin/sh
# Runs a command, its standard error merged into its output, then prints
# "exit status N": ctest's PASS_REGULAR_EXPRESSION then checks the output
# and the exit status together (tests/CMakeLists.txt, "the command line").
"$@" 2>&1
echo "exit status $?"
