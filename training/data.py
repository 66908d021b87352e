"""ShapesVQA files -> batches (the data contract is docs/data.md, written by tools/shapesvqa/).

A split PREFIX is `PREFIX.images.u8` (raw u8 [N, 96, 96, 3], memory-mapped) and `PREFIX.jsonl` (one question
per line with its image index, family, q_ids, a_ids ending in <eos>). Questions are grouped by image so the
vision tower and the LLM prefix run once per image (prefix.py). The trainer never tokenizes text itself.
"""

import json
import os
import re
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np
import torch

FAMILIES = ["colour", "shape", "count", "exist", "position", "relation", "caption"]
IMAGE_BYTES = 96 * 96 * 3


class Split:
    """One PREFIX: memory-mapped images and the questions grouped by image."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.images = np.memmap(prefix + ".images.u8", dtype=np.uint8, mode="r").reshape(-1, 96, 96, 3)
        # Patch labels for the vision tower's auxiliary loss (tools/shapesvqa/patches.ts), when present.
        pp = prefix + ".patches.u8"
        self.patches = (np.memmap(pp, dtype=np.uint8, mode="r").reshape(len(self.images), -1)
                        if os.path.exists(pp) else None)
        self.questions: List[dict] = []
        with open(prefix + ".jsonl") as f:
            for line in f:
                if line.strip():
                    self.questions.append(json.loads(line))
        by_image: Dict[int, List[int]] = defaultdict(list)
        for i, q in enumerate(self.questions):
            by_image[q["image"]].append(i)
        self.image_ids = sorted(by_image)  # images that have at least one question
        self.by_image = by_image

    def n_objects(self, image_id: int) -> int:
        return self.questions[self.by_image[image_id][0]].get("n_objects", 0)

    def pixels_u8(self, image_ids) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(self.images[np.asarray(image_ids)]))  # (N, 96, 96, 3)


def vocab_size(tokenizer_path: str) -> int:
    with open(tokenizer_path) as f:
        tok = json.load(f)
    ids = list(tok["model"]["vocab"].values()) + [t["id"] for t in tok.get("added_tokens", [])]
    return max(ids) + 1


def ready_train_files(data_dir: str) -> List[str]:
    """Train prefixes listed in data/READY (only complete files are listed there), in order train-1, -2..."""
    path = os.path.join(data_dir, "READY")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    ks = sorted({int(k) for k in re.findall(r"train-(\d+)\.jsonl", text)})
    return [os.path.join(data_dir, f"train-{k}") for k in ks
            if os.path.exists(os.path.join(data_dir, f"train-{k}.jsonl"))]


def parse_family_values(spec: str, flag: str, hi: float) -> Dict[str, float]:
    """"colour=0.2,shape=0.2" -> {"colour": 0.2, "shape": 0.2}, each value in (0, hi]; `flag` names the option
    in the error."""
    out = {}
    for part in filter(None, spec.split(",")):
        fam, _, p = part.partition("=")
        bad = ValueError(f"{flag}: '{part}' is not FAMILY=P with a family of {FAMILIES} and 0 < P <= {hi:g}")
        try:
            val = float(p)
        except ValueError:
            raise bad from None
        if fam not in FAMILIES or not 0.0 < val <= hi:
            raise bad
        out[fam] = val
    return out


def parse_family_keep(spec: str) -> Dict[str, float]:
    """"colour=0.2,shape=0.2" -> {"colour": 0.2, "shape": 0.2} (families not named keep every question)."""
    return parse_family_values(spec, "--family-keep", 1.0)


def make_batch(split: Split, image_ids: List[int], sep_id: int, pad_id: int, prefix_len: int,
               keep: Optional[Dict[str, float]] = None, rng: Optional[np.random.Generator] = None) -> dict:
    """Training batch: every question of the given images (with `keep`, a question of family f only with
    probability keep[f], drawn from `rng`; an image keeps at least its first question). Suffix = q + <sep> + a
    (a ends in <eos>), right-padded; labels are the next token on answer positions only (-100 elsewhere);
    "family" holds each question's index in FAMILIES (a training label, as the object count)."""
    img_index, seqs, starts, families = [], [], [], []
    for j, im in enumerate(image_ids):
        qis = split.by_image[im]
        if keep:
            draws = rng.random(len(qis))
            qis = [qi for qi, u in zip(qis, draws) if u < keep.get(split.questions[qi]["family"], 1.0)] or qis[:1]
        for qi in qis:
            q = split.questions[qi]
            img_index.append(j)
            families.append(FAMILIES.index(q["family"]))
            seqs.append(q["q_ids"] + [sep_id] + q["a_ids"])
            starts.append(len(q["q_ids"]))  # the <sep> position predicts the first answer token
    B, T = len(seqs), max(len(s) for s in seqs)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    labels = torch.full((B, T), -100, dtype=torch.long)
    valid = torch.zeros(B, T, dtype=torch.bool)
    for i, (s, st) in enumerate(zip(seqs, starts)):
        ids[i, : len(s)] = torch.tensor(s)
        valid[i, : len(s)] = True
        labels[i, st: len(s) - 1] = torch.tensor(s[st + 1:])
    pos = prefix_len + torch.arange(T)[None].expand(B, T)
    batch = {"pixels_u8": split.pixels_u8(image_ids), "img_index": torch.tensor(img_index), "ids": ids,
             "labels": labels, "valid": valid, "pos": pos, "family": torch.tensor(families)}
    if split.patches is not None:  # (N, 144) int64 patch classes
        batch["patch_labels"] = torch.from_numpy(split.patches[np.asarray(image_ids)].astype(np.int64))
    return batch


class TrainStream:
    """Endless stream of image batches over train-1..k as they appear. Chunk n reads train-(n+1) if READY
    lists it, else cycles over the listed files; each chunk is a seeded permutation of its images.
    `state()` / the `state` argument make the position resumable. `stride` W: chunks n, n+W, n+2W...
    (worker w of W in WorkerBatches)."""

    def __init__(self, data_dir: str, seed: int, images_per_batch: int, state: Optional[dict] = None,
                 stride: int = 1):
        self.data_dir, self.seed, self.n, self.stride = data_dir, seed, images_per_batch, stride
        self.cache: Dict[str, Split] = {}
        st = state or {"chunk": 0, "file": None, "pos": 0}
        self.chunk, self.file, self.pos = st["chunk"], st["file"], st["pos"]
        if self.file is None:
            self._start_chunk()

    def state(self) -> dict:
        return {"chunk": self.chunk, "file": self.file, "pos": self.pos}

    def _split(self, prefix: str) -> Split:
        if prefix not in self.cache:
            self.cache = {prefix: Split(prefix)}  # keep one train file in memory at a time
        return self.cache[prefix]

    def _start_chunk(self):
        files = ready_train_files(self.data_dir)
        if not files:
            raise FileNotFoundError(f"no train files listed in {self.data_dir}/READY")
        wanted = os.path.join(self.data_dir, f"train-{self.chunk + 1}")
        self.file = wanted if wanted in files else files[self.chunk % len(files)]
        self.pos = 0

    def next_images(self, max_objects: int = 0, min_objects: int = 0):
        """The next `images_per_batch` images; images with more than max_objects (> 0: curriculum) or fewer
        than min_objects objects are skipped (consumed, not returned)."""
        split = self._split(self.file)
        perm = np.random.default_rng(self.seed * 100003 + self.chunk).permutation(len(split.image_ids))
        ids = []
        while len(ids) < self.n:
            if self.pos >= len(perm):
                self.chunk += self.stride
                self._start_chunk()
                return self.next_images(max_objects, min_objects)
            im = split.image_ids[perm[self.pos]]
            self.pos += 1
            n = split.n_objects(im)
            if (max_objects <= 0 or n <= max_objects) and n >= min_objects:
                ids.append(im)
        return split, ids


def add_aux(batch: dict, split: Split, image_ids: List[int]) -> dict:
    """Extra images for the vision tower's patch-label loss alone: aux_pixels_u8 (M, 96, 96, 3) and
    aux_patch_labels (M, 144) int64."""
    batch["aux_pixels_u8"] = split.pixels_u8(image_ids)
    batch["aux_patch_labels"] = torch.from_numpy(split.patches[np.asarray(image_ids)].astype(np.int64))
    return batch


class WorkerBatches(torch.utils.data.IterableDataset):
    """Training batches built in DataLoader worker processes, for a GPU that one Python process cannot
    feed (parsing a 960k-question file alone takes seconds). Worker w of W streams chunks first+w, first+w+W,
    ... (TrainStream with stride W); its aux images are drawn at random from the file in hand (one parse per
    file). Without curriculum; the order is not resumable to the batch (a resumed run draws a fresh one)."""

    def __init__(self, data_dir: str, seed: int, images: int, aux_images: int, sep_id: int, pad_id: int,
                 prefix_len: int, first_chunk: int = 0, keep: Optional[Dict[str, float]] = None,
                 min_objects: int = 0):
        super().__init__()
        self.data_dir, self.seed, self.images, self.aux_images = data_dir, seed, images, aux_images
        self.sep_id, self.pad_id, self.prefix_len, self.first_chunk = sep_id, pad_id, prefix_len, first_chunk
        self.keep, self.min_objects = keep, min_objects

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        w, W = (info.id, info.num_workers) if info is not None else (0, 1)
        start = {"chunk": self.first_chunk + w, "file": None, "pos": 0}
        stream = TrainStream(self.data_dir, self.seed, self.images, start, stride=W)
        rng = np.random.default_rng(self.seed + 7919 + w)
        while True:
            split, ims = stream.next_images(min_objects=self.min_objects)
            b = make_batch(split, ims, self.sep_id, self.pad_id, self.prefix_len, self.keep, rng)
            if self.aux_images > 0:
                add_aux(b, split, rng.choice(split.image_ids, self.aux_images, replace=False).tolist())
            yield b
