package sfdc

// Get and Delete are the tests' own REST calls: the product reads records
// with SOQL and never deletes one, so the client does not carry them.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Get reads one record into dst (a pointer to a struct or map). fields
// limits the columns; nil reads all.
func (c *Client) Get(ctx context.Context, object, id string, fields []string, dst any) error {
	if err := need("Get", "object", object, "id", id); err != nil {
		return err
	}
	r := request{method: http.MethodGet, path: c.dataPath("sobjects", object, id)}
	if len(fields) > 0 {
		r.query = url.Values{"fields": {strings.Join(fields, ",")}}
	}
	_, err := c.doJSON(ctx, r, nil, dst)
	return err
}

// Delete moves one record to the recycle bin.
func (c *Client) Delete(ctx context.Context, object, id string) error {
	if err := need("Delete", "object", object, "id", id); err != nil {
		return err
	}
	_, err := c.doJSON(ctx, request{method: http.MethodDelete, path: c.dataPath("sobjects", object, id)}, nil, nil)
	return err
}
