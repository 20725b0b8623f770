"""Drafts: a report being given step by step (a visit, a problem, a card's reason).

The step engine (``handlers/flow.py``) reaches the drafts table only through here, as
handlers may not import ``storage``. One open draft per kind, chat and person; every
step saves the draft's data and the step it reaches in one write. Each is the storage
function itself, named here: a wrapper would only add a call to every step.

- ``get(db, draft_id)``; ``open_draft(db, kind, chat_id, user_id)``: the open one;
- ``current(db, kind, chat_id, user_id)``: the open one from this process's memory while
  its version is the row's, and the people generation, in one read (the step engine);
- ``save_step(db, draft, step, data, now)``: ``save`` for the engine: the draft as saved;
- ``other_open(db, chat_id, user_id, kind)``: an open draft of another kind in this chat
  (text typed in a chat goes to one flow at a time); ``open_here(db, chat_id, user_id)``:
  all open drafts of the person in the chat, newest first;
- ``start(...)``: open a draft at a step, cancelling an open one of the same kind here;
- ``save(db, draft_id, step, data, now)``: False when the draft is no longer open;
- ``cancel``; ``open_steps(db, kind)``: (chat_id, user_id) → step, the conversations'
  state after a restart; ``open_of_user``: a person's open drafts, read afresh before
  each update when several processes share the database.
"""

from __future__ import annotations

from storage.drafts import (
    Draft,
    cancel,
    current,
    get,
    open_draft,
    open_here,
    open_of_user,
    open_steps,
    other_open,
    save,
    save_step,
    start,
)

__all__ = [
    "Draft",
    "cancel",
    "current",
    "get",
    "open_draft",
    "open_here",
    "open_of_user",
    "open_steps",
    "other_open",
    "save",
    "save_step",
    "start",
]
