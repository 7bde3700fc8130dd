//! [`WriteBatch`]: changes to several tables that commit together or not at all.

use crate::commit::Op;
use crate::table::{encode, Record};
use crate::StoreError;

/// A set of record changes, across any tables, committed atomically by
/// [`Store::commit`](crate::Store::commit).
///
/// Changes apply in the order they were added. A batch holding a create-only record
/// ([`WriteBatch::create`]) is refused whole if that record's key is already taken.
#[derive(Debug, Default)]
#[must_use = "a batch does nothing until it is committed"]
pub struct WriteBatch {
    ops: Vec<Op>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// Stores `record`, replacing any record with the same key.
    pub fn put<R: Record>(&mut self, record: &R) -> Result<&mut Self, StoreError> {
        let value = encode(record)?;
        self.ops.push(Op::Put {
            table: R::TABLE,
            key: record.key().into_bytes(),
            value,
        });
        Ok(self)
    }

    /// Stores `record` only if no record with its key exists; otherwise the commit fails
    /// with [`StoreError::Conflict`] carrying the stored bytes, and nothing in the batch
    /// is written.
    pub fn create<R: Record>(&mut self, record: &R) -> Result<&mut Self, StoreError> {
        let value = encode(record)?;
        self.ops.push(Op::Create {
            table: R::TABLE,
            key: record.key().into_bytes(),
            value,
        });
        Ok(self)
    }

    /// Removes the record of type `R` stored under `key`, if any.
    pub fn delete<R: Record>(&mut self, key: &str) -> &mut Self {
        self.ops.push(Op::Delete {
            table: R::TABLE,
            key: key.as_bytes().to_vec(),
        });
        self
    }

    /// How many changes the batch holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no change.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub(crate) fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    pub(crate) fn into_ops(self) -> Vec<Op> {
        self.ops
    }
}
