"""How a write reaches the chain: the one durable transaction pipeline.

Every write (a court's record or a governance act from the service's outbox, a notary batch's anchor)
goes the same way; the owner of the write (``api.outbox`` with ``api.worker``, ``ledger.notary``) keeps
only what the write is and its state:

1. **estimate** the call (:meth:`Pipeline.estimate`; a revert comes back decoded);
2. **sign** under the sender's nonce lane (``lanes``) with the fee policy (``fees``), and **journal** the
   signed bytes, nonce and hash with the owner's state change in one SQLite commit, *before* anything
   is sent (``journal``: table ``transactions`` in the owner's file, owner ``outbox:<id>`` or
   ``notary:<batch>``); a crash after that point resends the same bytes, never a second transaction;
3. **send** the journaled bytes and **follow** them to a receipt (:meth:`Pipeline.send`,
   :meth:`Pipeline.follow`): a transaction the node does not know is sent again, the same bytes; a
   node's refusal comes back as a meaning (``rpc``: known, nonce taken, underpriced, other), read into
   one next step for every owner (:func:`next_step`: wait, settle from its own transaction, sign again
   with a new nonce, replace with current fees, retry later), which the owner carries out;
4. when the chain says the write is **already done**, or a nonce went to another transaction, the
   write's own earlier transactions are looked for (``earlier``): their receipts in the journal first,
   then the write's creation log in bounded block ranges starting at the block of the first send;
   found (settle with that transaction), not found, or may still show up (a node just restarted);
5. **settled**: the journal row keeps the block number and hash; ``lost`` walks the journal's settled
   rows newest block first and hands back writes whose block the chain no longer holds, to be sent
   again with their journaled bytes (or settled from the receipt if they were mined again elsewhere).

Modules: ``core`` (:class:`Pipeline`: steps 1-3), ``lanes``, ``fees``, ``rpc``, ``journal``, ``earlier``,
``lost``.
"""

from ledger.pipeline import earlier
from ledger.pipeline.core import Next, Pipeline, next_step
from ledger.pipeline.fees import FeePolicy
from ledger.pipeline.journal import Journal, JournalRow
from ledger.pipeline.lanes import ChainNonces, NonceLanes, NonceStore
from ledger.pipeline.lost import recheck_journal, recheck_lost_blocks
from ledger.pipeline.rpc import Refusal, Refused

__all__ = [
    "ChainNonces",
    "FeePolicy",
    "Journal",
    "JournalRow",
    "Next",
    "NonceLanes",
    "NonceStore",
    "Pipeline",
    "Refusal",
    "Refused",
    "earlier",
    "next_step",
    "recheck_journal",
    "recheck_lost_blocks",
]
