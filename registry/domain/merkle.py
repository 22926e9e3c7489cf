"""The transparency log's Merkle tree, hashed as in RFC 9162 §2.1 (DESIGN §6).

Rules enforced here:
- a leaf hashes as SHA-256(0x00 ‖ entry) and an interior node as SHA-256(0x01 ‖ left ‖ right);
  the empty tree's root is SHA-256 of the empty string (RFC 9162 §2.1.1);
- inclusion and consistency proofs are exactly RFC 9162's PATH and PROOF (§2.1.3.1, §2.1.4.1),
  and their verifiers are the algorithms of §2.1.3.2 and §2.1.4.2: they return False, never
  raise and never accept, for a corrupted, truncated or extended proof, a wrong index or size;
- sizes and indices from a caller are checked (``InvalidInput``) before any storage is read.

Storage model. The log keeps, for every level, the hash of every *complete aligned* node: the
node at level ``l`` and position ``p`` is MTH(D[p·2^l : (p+1)·2^l]) and is written once, when
its last leaf is appended (``subtrees_completed_by_append``; amortised two rows per leaf), and
never changes. Proof generators only ever ask a ``SubtreeHash`` callback for such perfect aligned
ranges, each one stored row. RFC 9162's PATH and SUBPROOF need MTH of some ranges that are not
perfect (those ending at the tree's right edge); such a range [start, end) is split into its
aligned power-of-two pieces, largest first, and folded right to left.

Read bound (asserted by tests/unit/test_merkle.py): all but one element of a proof is a
perfect subtree, and the one right-edge range below a subtree of size 2^j splits into at most
j pieces, so a proof for a tree of n leaves reads at most 2·⌈log2 n⌉ stored nodes — O(log n).
The ``*_proof_ranges`` and ``subtrees_to_read`` functions name those nodes up front, so an
async storage layer can fetch them in one query and then pass a dictionary lookup as the callback.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence

from registry.errors import InvalidInput

HASH_SIZE = 32
# RFC 9162 §2.1.1: MTH({}) = HASH().
EMPTY_ROOT = hashlib.sha256(b"").digest()
# RFC 9162 §2.1.1: domain separation between leaves and interior nodes (second-preimage defence).
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

# MTH(D[start:end]) for a perfect aligned range: end - start = 2^l and start a multiple of 2^l.
SubtreeHash = Callable[[int, int], bytes]
Range = tuple[int, int]


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1 interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (RFC 9162 §2.1.1), computed level by level."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        # An unpaired last node moves up unchanged: the same tree as RFC 9162's split at the
        # largest power of two below n.
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def is_perfect_subtree(start: int, end: int) -> bool:
    """True when [start, end) is a complete aligned node: 2^l leaves from a multiple of 2^l."""
    size = end - start
    return start >= 0 and size > 0 and size & (size - 1) == 0 and start % size == 0


def node_position(start: int, end: int) -> tuple[int, int]:
    """(level, position) of the stored node covering the perfect aligned range [start, end)."""
    if not is_perfect_subtree(start, end):
        raise ValueError(f"expected a perfect aligned range, found [{start}, {end})")
    level = (end - start).bit_length() - 1
    return level, start >> level


def perfect_pieces(start: int, end: int) -> list[Range]:
    """Split [start, end) into aligned power-of-two pieces, largest first."""
    if not 0 <= start < end:
        raise ValueError(f"expected a non-empty range, found [{start}, {end})")
    pieces: list[Range] = []
    while start < end:
        size = 1 << ((end - start).bit_length() - 1)
        if start % size:
            raise ValueError(f"expected a range starting on a multiple of {size}, found {start}")
        pieces.append((start, start + size))
        start += size
    return pieces


def range_hash(start: int, end: int, subtree_hash: SubtreeHash) -> bytes:
    """MTH(D[start:end]) from its perfect pieces, one ``subtree_hash`` read per piece."""
    pieces = perfect_pieces(start, end)
    # RFC 9162 §2.1.1 splits a list at the largest power of two below its length, which is the
    # first piece; so MTH is the right fold of node_hash over the pieces.
    result = subtree_hash(*pieces[-1])
    for piece in reversed(pieces[:-1]):
        result = node_hash(subtree_hash(*piece), result)
    return result


def tree_root(tree_size: int, subtree_hash: SubtreeHash) -> bytes:
    """The root of the first ``tree_size`` leaves: one stored node read per set bit of the size."""
    _check_size(tree_size, "tree_size")
    return EMPTY_ROOT if tree_size == 0 else range_hash(0, tree_size, subtree_hash)


def inclusion_proof_ranges(index: int, tree_size: int) -> list[Range]:
    """The ranges whose MTH make PATH(index, D[0:tree_size]) (RFC 9162 §2.1.3.1), in proof order."""
    _check_size(tree_size, "tree_size")
    if not 0 <= index < tree_size:
        raise InvalidInput(
            f"expected a leaf index from 0 to {tree_size - 1} for a tree of {tree_size} leaves, "
            f"found {index}",
            field="index",
        )
    ranges: list[Range] = []
    low, high = 0, tree_size
    # RFC 9162 §2.1.3.1, unrolled from the root down: k is the largest power of two below n;
    # the sibling of the half holding the leaf is appended after the rest of the path.
    while high - low > 1:
        k = _largest_power_of_two_below(high - low)
        if index < low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
    ranges.reverse()
    return ranges


def consistency_proof_ranges(old_size: int, new_size: int) -> list[Range]:
    """The ranges whose MTH make PROOF(old_size, D[0:new_size]) (RFC 9162 §2.1.4.1), in order."""
    _check_size(old_size, "old_size")
    _check_size(new_size, "new_size")
    if old_size > new_size:
        raise InvalidInput(
            f"expected an old tree size no larger than the new size {new_size}, found {old_size}",
            field="old_size",
        )
    # The empty tree and an unchanged tree need nothing to prove (SUBPROOF(m, D[m], true) = {}).
    if old_size in (0, new_size):
        return []
    ranges: list[Range] = []
    low, high = 0, new_size
    complete = True  # RFC 9162's flag b: is this subtree the whole old tree?
    while old_size - low != high - low:
        k = _largest_power_of_two_below(high - low)
        if old_size - low <= k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
            complete = False
    if not complete:
        ranges.append((low, high))
    ranges.reverse()
    return ranges


def subtrees_to_read(ranges: Iterable[Range]) -> list[Range]:
    """The distinct perfect aligned subtrees that ``range_hash`` will read for these ranges."""
    wanted: dict[Range, None] = {}
    for start, end in ranges:
        wanted.update(dict.fromkeys(perfect_pieces(start, end)))
    return list(wanted)


def inclusion_proof(index: int, tree_size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """RFC 9162 §2.1.3.1 inclusion proof for leaf ``index`` in the tree of ``tree_size`` leaves."""
    return [range_hash(s, e, subtree_hash) for s, e in inclusion_proof_ranges(index, tree_size)]


def consistency_proof(old_size: int, new_size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """RFC 9162 §2.1.4.1 consistency proof that the first ``old_size`` leaves are unchanged."""
    return [range_hash(s, e, subtree_hash) for s, e in consistency_proof_ranges(old_size, new_size)]


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: True only if ``proof`` links ``leaf_hash`` at ``index`` to ``root``.

    ``tree_size`` and ``root`` must come from the same signed checkpoint.
    """
    if not (_is_hash(leaf_hash) and _is_hash(root) and _are_hashes(proof)):
        return False
    if not (_is_count(index) and _is_count(tree_size)):
        return False
    # Step 1: the index must name a leaf of the tree.
    if index >= tree_size:
        return False
    # Steps 2-3.
    fn, sn = index, tree_size - 1
    r = leaf_hash
    # Step 4.
    for p in proof:
        # 4a: more proof than tree.
        if sn == 0:
            return False
        # 4b.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        # 4c.
        fn >>= 1
        sn >>= 1
    # Step 5.
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: True only if the tree ``new_root`` extends the tree ``old_root``.

    Equal sizes need an empty proof and equal roots; the empty tree is a prefix of every tree.
    """
    if not (_is_hash(old_root) and _is_hash(new_root) and _are_hashes(proof)):
        return False
    if not (_is_count(old_size) and _is_count(new_size)) or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and hmac.compare_digest(old_root, new_root)
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, EMPTY_ROOT)
    # Step 1.
    if not proof:
        return False
    # Step 2: a power-of-two old tree is itself a node of the new tree, so it starts the path.
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    # Step 3.
    fn, sn = old_size - 1, new_size - 1
    # Step 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        # 6a: more proof than tree.
        if sn == 0:
            return False
        # 6b.
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        # 6c.
        fn >>= 1
        sn >>= 1
    # Step 7.
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)


def subtrees_completed_by_append(
    index: int, new_leaf_hash: bytes, subtree_hash: SubtreeHash
) -> list[tuple[int, int, bytes]]:
    """The perfect subtrees (start, end, hash) that appending leaf ``index`` completes.

    Reads one stored left sibling per completed level above the leaf: amortised one per append.
    """
    _check_size(index, "index")
    start, end, value = index, index + 1, new_leaf_hash
    completed = [(start, end, value)]
    size = 1
    # While this node is a right child, its parent is now complete too.
    while start % (2 * size):
        value = node_hash(subtree_hash(start - size, start), value)
        start -= size
        size *= 2
        completed.append((start, end, value))
    return completed


class MemoryTree:
    """An in-memory log of leaf hashes keeping every complete aligned node, level by level.

    ``reads`` counts ``subtree_hash`` calls, so tests can measure what a proof costs in storage.
    """

    def __init__(self) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.reads = 0

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> MemoryTree:
        """Build a tree in bulk, one level at a time (much faster than appending one by one)."""
        tree = cls()
        level = list(leaf_hashes)
        tree._levels = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            tree._levels.append(level)
        return tree

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return len(self._levels[0])

    def append(self, new_leaf_hash: bytes) -> int:
        """Append one leaf hash and store the nodes it completes; return its index."""
        index = self.size
        for start, end, value in subtrees_completed_by_append(index, new_leaf_hash, self._stored):
            level, _ = node_position(start, end)
            if level == len(self._levels):
                self._levels.append([])
            self._levels[level].append(value)
        return index

    def subtree_hash(self, start: int, end: int) -> bytes:
        """One counted read: the stored hash of the perfect aligned range [start, end)."""
        self.reads += 1
        return self._stored(start, end)

    def root(self) -> bytes:
        """The root hash of the whole tree."""
        return tree_root(self.size, self.subtree_hash)

    def _stored(self, start: int, end: int) -> bytes:
        level, position = node_position(start, end)
        if end > self.size:
            raise InvalidInput(
                f"expected a range within the {self.size} leaves stored, found [{start}, {end})",
                field="tree_size",
            )
        return self._levels[level][position]


def _largest_power_of_two_below(n: int) -> int:
    # RFC 9162 §2.1.1: "k is the largest power of two smaller than n" (n > 1).
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(value: int, field: str) -> None:
    if not _is_count(value):
        raise InvalidInput(f"expected a whole number of at least 0, found {value!r}", field=field)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _are_hashes(values: object) -> bool:
    if isinstance(values, bytes | bytearray | str) or not isinstance(values, Sequence):
        return False
    return all(_is_hash(v) for v in values)
