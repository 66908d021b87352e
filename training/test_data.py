"""Self-checks of the batch sources (seconds; reads data/val and data/test as two stand-in train files):

  cd training && /usr/bin/python3 test_data.py

1. TrainStream with stride W visits chunks n, n+W, ... and reads the file each chunk names;
2. WorkerBatches in 2 DataLoader workers: each worker streams its own file, every batch equals make_batch of
   its images (found by their pixels), and the aux images carry their own patch labels.
"""

import os
import tempfile

import numpy as np
import torch

from data import Split, TrainStream, WorkerBatches, make_batch

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")


def stand_in_train_dir():
    d = tempfile.mkdtemp()
    for k, name in [(1, "val"), (2, "test")]:
        for ext in ["images.u8", "patches.u8", "jsonl"]:
            os.symlink(os.path.abspath(os.path.join(DATA, f"{name}.{ext}")), os.path.join(d, f"train-{k}.{ext}"))
    with open(os.path.join(d, "READY"), "w") as f:
        f.write("train-1.jsonl\ntrain-2.jsonl\n")
    return d


def find_images(split: Split, pixels: torch.Tensor):
    """Image ids of `split` whose pixels equal each of `pixels` (N, 96, 96, 3), or None if one is absent."""
    flat = split.images.reshape(len(split.images), -1)
    ids = []
    for p in pixels.reshape(len(pixels), -1).numpy():
        hit = np.flatnonzero((flat == p).all(1))
        if len(hit) == 0:
            return None
        ids.append(int(hit[0]))
    return ids


def main():
    d = stand_in_train_dir()
    s = TrainStream(d, seed=3, images_per_batch=100, stride=2)
    seen = []
    for _ in range(12):
        split, _ = s.next_images()
        seen.append((s.chunk, os.path.basename(split.prefix)))
    assert [c for c, _ in seen][:5] == [0] * 5 and {c for c, _ in seen} == {0, 2, 4}, seen
    assert all(f == "train-1" for _, f in seen), seen  # chunks 0, 2, 4 of 2 files: train-1 each time
    print("1. stride: chunks", sorted({c for c, _ in seen}), "all train-1: ok")

    splits = {"train-1": Split(os.path.join(d, "train-1")), "train-2": Split(os.path.join(d, "train-2"))}
    loader = torch.utils.data.DataLoader(WorkerBatches(d, 5, 4, 6, sep_id=4, pad_id=0, prefix_len=145),
                                         batch_size=None, num_workers=2)
    files = []
    for i, b in zip(range(6), loader):
        name, ims = next((n, find_images(sp, b["pixels_u8"])) for n, sp in splits.items()
                         if find_images(sp, b["pixels_u8"]) is not None)
        ref = make_batch(splits[name], ims, 4, 0, 145)
        for k, v in ref.items():
            assert torch.equal(v, b[k]), (i, k)
        aux_ids = find_images(splits[name], b["aux_pixels_u8"])
        assert aux_ids is not None and len(set(aux_ids)) == 6, "aux images come from the same file, distinct"
        want = torch.from_numpy(splits[name].patches[np.asarray(aux_ids)].astype(np.int64))
        assert torch.equal(b["aux_patch_labels"], want)
        files.append(name)
    assert files == ["train-1", "train-2"] * 3, files  # DataLoader alternates workers; worker w has chunk w
    print("2. WorkerBatches: 6 batches == make_batch, aux labels match, files", files, ": ok")


if __name__ == "__main__":
    main()
