"""Regenerate the golden `ansible-inventory --list --export` files (make golden)."""

import json

from inventory_cases import CASES, golden_path, inventory_list


def main():
    for name, (spec, state_dir) in sorted(CASES.items()):
        data = inventory_list(spec, state_dir)
        with open(golden_path(name), "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        print("wrote", golden_path(name))


if __name__ == "__main__":
    main()
