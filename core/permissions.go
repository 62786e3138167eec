package core

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// PermissionKind is the kind of access a key grants; a key has exactly one.
type PermissionKind string

// The three permission kinds of a key.
const (
	// KindGlobal is Global Development Access: scope *:*, every operation.
	KindGlobal PermissionKind = "global"
	// KindSections grants full or read-only access to whole sections.
	KindSections PermissionKind = "sections"
	// KindOperations grants individual operations.
	KindOperations PermissionKind = "operations"
)

// Label returns the kind's name as the window shows it.
func (k PermissionKind) Label() string {
	switch k {
	case KindGlobal:
		return "Global Development Access"
	case KindSections:
		return "Section access"
	case KindOperations:
		return "Specific by operation"
	}
	return string(k)
}

// Access is the level of access to a section.
type Access string

// Section access levels.
const (
	AccessRead Access = "read"
	AccessFull Access = "full"
)

// Permissions is what an administrator picks in the create dialog.
type Permissions struct {
	Kind PermissionKind `json:"kind"`
	// Sections maps section ids to their access, for KindSections.
	Sections map[string]Access `json:"sections,omitempty"`
	// Operations lists operation ids, for KindOperations.
	Operations []string `json:"operations,omitempty"`
}

// Permission errors; callers branch on them to point at the field at fault.
var (
	ErrNoPermission     = errors.New("choose at least one permission: Global Development Access, a section, or an operation")
	ErrMixedPermissions = errors.New("a key has exactly one kind of permission: Global Development Access, sections, or specific operations")
	ErrUnknownSection   = errors.New("unknown section")
	ErrUnknownOperation = errors.New("unknown operation")
	ErrBadAccess        = errors.New("section access must be read or full")
)

// Scopes validates p against the catalog and returns the sorted scope strings
// it grants.
func (c *Catalog) Scopes(p Permissions) ([]string, error) {
	var scopes []string
	switch p.Kind {
	case KindGlobal:
		if len(p.Sections) > 0 || len(p.Operations) > 0 {
			return nil, ErrMixedPermissions
		}
		return []string{GlobalScope}, nil
	case KindSections:
		if len(p.Operations) > 0 {
			return nil, ErrMixedPermissions
		}
		for id, a := range p.Sections {
			s, ok := c.sections[id]
			if !ok {
				return nil, fmt.Errorf("%w %q (see keydesk catalog)", ErrUnknownSection, id)
			}
			switch a {
			case AccessRead:
				scopes = append(scopes, s.ReadOnlyScope)
			case AccessFull:
				scopes = append(scopes, s.FullAccessScope)
			default:
				return nil, fmt.Errorf("%w (section %q has %q)", ErrBadAccess, id, a)
			}
		}
	case KindOperations:
		if len(p.Sections) > 0 {
			return nil, ErrMixedPermissions
		}
		for _, id := range p.Operations {
			o, ok := c.ops[id]
			if !ok {
				return nil, fmt.Errorf("%w %q (see keydesk catalog)", ErrUnknownOperation, id)
			}
			scopes = append(scopes, o.Scope())
		}
	case "":
		return nil, ErrNoPermission
	default:
		return nil, fmt.Errorf("unknown permission kind %q", p.Kind)
	}
	if len(scopes) == 0 {
		return nil, ErrNoPermission
	}
	sort.Strings(scopes)
	return slices.Compact(scopes), nil
}

// Allows reports whether a key holding scopes may call op: it holds *:*, or
// op's section full-access scope, or any scope listed on op (which includes
// the section's read scope for read-only operations). Nothing else.
func Allows(scopes []string, op *Operation, sec *Section) bool {
	for _, s := range scopes {
		if s == GlobalScope || s == sec.FullAccessScope || slices.Contains(op.Scopes, s) {
			return true
		}
	}
	return false
}

// AllowsOperation is Allows for an operation id; unknown ids are refused.
func (c *Catalog) AllowsOperation(scopes []string, opID string) (bool, error) {
	o, ok := c.ops[opID]
	if !ok {
		return false, fmt.Errorf("%w %q", ErrUnknownOperation, opID)
	}
	return Allows(scopes, o, c.sections[o.SectionID]), nil
}

// AllowsScope reports whether a key holding scopes has the authority of
// scope: it holds the scope itself, *:*, the section's full-access scope, or
// (for an operation's scope) a scope that allows every operation listing it.
func (c *Catalog) AllowsScope(scopes []string, scope string) bool {
	sec, _, _ := strings.Cut(scope, ":")
	for _, s := range scopes {
		if s == scope || s == GlobalScope || s == sec+":*" {
			return true
		}
	}
	ops := c.byScope[scope]
	if len(ops) == 0 {
		return false
	}
	for _, o := range ops {
		if !Allows(scopes, o, c.sections[o.SectionID]) {
			return false
		}
	}
	return true
}
