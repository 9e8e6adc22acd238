"""Compile the contracts and write the committed artifacts under ledger/artifacts/."""

from ledger.build import write_artifacts

if __name__ == "__main__":
    for path in write_artifacts():
        print(path)
