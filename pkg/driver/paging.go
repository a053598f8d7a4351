package driver

import "sort"

// page cuts one page out of items sorted by id. The token is the id to
// resume at, so an item deleted between two pages does not shift the rest
// (a position would skip one). maxEntries 0 means all.
func page[T any](items []T, id func(T) string, token string, maxEntries int32) (out []T, next string) {
	start := sort.Search(len(items), func(i int) bool { return id(items[i]) >= token })
	end := len(items)
	if n := int(maxEntries); n > 0 && start+n < end {
		end = start + n
	}
	if end < len(items) {
		next = id(items[end])
	}
	return items[start:end], next
}

// checkPaging validates max_entries and a starting_token, which must have
// the form of the ids the list returns (valid reports that).
func checkPaging(maxEntries int32, token string, valid func(string) bool) error {
	if maxEntries < 0 {
		return invalid("max_entries must not be negative")
	}
	if token != "" && !valid(token) {
		return fail(errPagingToken, "starting_token %q was not returned by this list", token)
	}
	return nil
}
