"""Make the collection importable as ansible_collections.q8s.cluster from a checkout."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, ".collections")

if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "q8s", "cluster")):
    raise RuntimeError("run `make setup` first: it links the checkout into .collections/")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
