// Package arch has no code: its test holds the import rule of README
// "Architecture" (which package may import which) against the tree.
package arch
