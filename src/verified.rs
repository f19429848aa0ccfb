//! The `Verified<T>` typestate: a value whose signatures and bindings have been checked.

use core::ops::Deref;

/// A `T` that passed verification. Only this crate's `verify` functions construct one, so code
/// that takes a `Verified<T>` cannot be handed an unchecked value by mistake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    /// Marks `value` as verified; callers must have checked it.
    pub(crate) const fn new(value: T) -> Self {
        Verified(value)
    }

    /// Gives up the marker and returns the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Verified<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> AsRef<T> for Verified<T> {
    fn as_ref(&self) -> &T {
        &self.0
    }
}
