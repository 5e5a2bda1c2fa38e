// A small proto for the generator unit tests: a route with a path variable, a body field
// and the rest from the query; a oneof; a two-line method comment.
export const SHOP = `syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";

// A line of an order.
message Item {
  string sku = 1;
  oneof amount {
    int32 count = 2;
    double weight = 3;
  }
}

message AddItemRequest {
  string order_id = 1;
  Item item = 2;
  bool dry_run = 3;
}

service Orders {
  // Adds an item to an order.
  // The order must be open.
  rpc AddItem(AddItemRequest) returns (Item) {
    option (google.api.http) = { post: "/v1/orders/{order_id}/items" body: "item" };
  }
}
`;
