//! NetLog writer for tests (filled in with the NetLog reader).
