#!/bin/sh
# short fuzz runs: filled in with the fuzz targets
echo "1..0"
