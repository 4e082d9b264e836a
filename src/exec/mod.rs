//! The only writes to the cluster: runs an operation's plan (access check, server-side dry
//! run, apply, audit). Filled by the operations issue.
