"""Self-checks of the batch sources (seconds; reads data/val and data/test as two stand-in train files):

  cd training && /usr/bin/python3 test_data.py

1. TrainStream with stride W visits chunks n, n+W, ... and reads the file each chunk names;
2. WorkerBatches in 2 DataLoader workers: each worker streams its own file, every batch equals make_batch of
   its images (found by their pixels), and the aux images carry their own patch labels;
3. a focused fine-tune's batches (--family-keep, --min-objects): only images with enough objects, the kept
   families' questions all there, the thinned ones at about their rate, every image still asked something.
"""

import os
import tempfile

import numpy as np
import torch

from data import Split, TrainStream, WorkerBatches, make_batch, parse_family_keep

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

    keep = parse_family_keep("colour=0.25,caption=0.25")
    s = TrainStream(d, seed=4, images_per_batch=200)
    split, ims = s.next_images(min_objects=5)
    assert all(split.n_objects(im) >= 5 for im in ims) and len(ims) == 200
    b = make_batch(split, ims, 4, 0, 145, keep, np.random.default_rng(0))
    asked = [split.questions[qi] for im in ims for qi in split.by_image[im]]
    got = {}
    for ids, j in zip(b["ids"].tolist(), b["img_index"].tolist()):
        got.setdefault(j, []).append(ids)
    assert sorted(got) == list(range(200)), "every image keeps at least one question"
    n_all = {f: sum(q["family"] == f for q in asked) for f in ["colour", "caption", "relation", "count"]}
    n_kept = {f: 0 for f in n_all}
    for j, im in enumerate(ims):
        for qi in split.by_image[im]:
            q = split.questions[qi]
            seq = q["q_ids"] + [4] + q["a_ids"]
            if q["family"] in n_kept and any(r[: len(seq)] == seq for r in got[j]):
                n_kept[q["family"]] += 1
    assert n_kept["relation"] == n_all["relation"] and n_kept["count"] == n_all["count"], (n_kept, n_all)
    for f in ["colour", "caption"]:
        assert 0.1 < n_kept[f] / n_all[f] < 0.45, (f, n_kept, n_all)
    for bad in ["colour=0", "colour", "colour=x", "colours=0.5", "shape=1.5"]:
        try:
            parse_family_keep(bad)
            raise AssertionError(f"--family-keep {bad} must be refused")
        except ValueError as e:
            assert "FAMILY=P" in str(e), e
    print("3. focused batches: >= 5 objects, relation/count all kept, colour/caption",
          {f: f"{n_kept[f]}/{n_all[f]}" for f in ["colour", "caption"]}, ": ok")


if __name__ == "__main__":
    main()
