"""The outbox worker: signs, sends and follows every accepted write until it is confirmed or failed.

Contract
--------
One background thread. At most once a second, and first after a failed pass, a pass checks that the chain
still holds the block of the newest settled entry; entries settled in blocks the node lost (anvil killed
between two state dumps, a reorganisation) go back to ``submitted`` and are followed like any other. A
failed pass also lets a ``local`` chain follow its node to the port it was restarted on
(:meth:`ledger.chain.Chain.reconnect`). Then the pass walks the lanes with open entries (the governance
lane first, then one lane per court) and, per lane:

1. **Follows what is in flight** (``submitted``, in nonce order). A receipt moves the entry to
   ``confirmed`` (status 1; block number, hash, time and gas stored) or ``failed`` (status 0; the call is
   replayed one block earlier to decode the revert into its custom error name and arguments). Without a
   receipt, a transaction the node does not know (node restarted, mempool lost, service crashed between
   storing and sending) is sent again: the same raw bytes, the same nonce, never signed anew. A node
   answering "nonce too low" for it while it has no receipt (nor any transaction it replaced) means
   another transaction took the nonce, or the node does not serve this one's receipt yet: the entry
   goes back to ``accepted``, keeping the transaction among its previous ones, and is signed again with
   a new nonce.
2. **Sends what was accepted**, in acceptance order, stopping at the first entry that cannot go yet
   (order is kept per lane). Court entries also wait for every earlier governance act (a court admitted a
   moment ago must be on chain before its first judgment). The worker estimates gas; a revert with nothing
   earlier of this lane in flight fails the entry with the decoded error; with something in flight it
   waits, because the entry may depend on it (a filing on its judgment). Then, under the nonce lock:
   nonce = the stored counter or the node's pending count (see :meth:`Outbox.next_nonce`), EIP-712 record
   signature and transaction signed with the court's signer key, raw transaction and nonce committed to
   the outbox, and only then sent.

Each court's records are sent by its own signer account (one sender per court signer); governance acts
and signer funding by the governance account.

An entry signed before may already be written by one of its own earlier transactions (mined while the
worker missed its receipt); the search is the pipeline's (:mod:`ledger.pipeline.earlier`, over the
entry's transactions in the journal, :mod:`ledger.pipeline.journal`). Before signing such an entry
again, the receipts of its previous transactions are checked (the cheap path). When estimation, or a
mined transaction, reverts with the error of a record already written under the entry's own id
(``JudgmentRegistryAlreadyRecorded``, ``EnforcementRegistryCaseExists``,
``DefaulterRegistryAlreadyListed``, ``NotaryAnchorAlreadyAnchored``), or, for a change, of its sequence
number already used (see :func:`says_already_written`), the record's event is looked up with
``eth_getLogs`` (topic 1 the record's id, from a little below the block the entry was first signed at).
A log whose fields match the record, from a transaction with exactly the entry's call sent by a key this
service holds for the court, confirms the entry with that transaction (noted on the entry); a log of
another transaction leaves the entry failed, the error naming it and how it differs. When nothing is
found but the entry gave up transactions of its own, the search is repeated each second for
``search_grace`` seconds before the entry fails: a node just restarted may serve its state before the
receipts and logs of its last blocks.

The package is split by job: :mod:`api.worker.loop` (the thread, the pass over the lanes, following what
is in flight), :mod:`api.worker.sending` (signing and sending, again when the node refuses or holds a
transaction), :mod:`api.worker.settling` (confirming, failing, adopting an earlier transaction, blocks the
node lost) and :mod:`api.worker.calls` (the call and account of an entry).
"""

from __future__ import annotations

from api.worker.calls import COURT_ACT_FUNCTIONS, GOVERNANCE_FUNCTIONS, contract_of_entry
from api.worker.loop import OutboxWorker, follow_restarted_node

__all__ = ["COURT_ACT_FUNCTIONS", "GOVERNANCE_FUNCTIONS", "OutboxWorker", "contract_of_entry", "follow_restarted_node"]
