// Package source fetches the manifests a Sync renders: a Git repository,
// cloned shallowly with go-git into memory (Git content never touches the
// disk, so nothing can later be written next to it), at the revision the
// Sync's ref points to.
//
// A Fetcher is shared by every Sync of a controller: many Syncs usually
// follow the same repository, so the revision a ref points to is asked once
// per interval and each revision is cloned once, whatever the number of
// Syncs.
package source
