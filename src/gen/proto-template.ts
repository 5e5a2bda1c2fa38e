// `tsk proto add`: a CRUD service proto with google.api.http rules.
// The package comes from the directories below the import root: protos live
// under `api/`, so `api/user/v1/user.proto` declares `package user.v1;`.

export interface ProtoTemplateInput {
  /** Path below the import root, e.g. `user/v1/user.proto`. */
  protoPath: string;
}

export function protoPackageFor(protoPath: string): string {
  const dirs = protoPath.split('/').slice(0, -1);
  return dirs.join('.');
}

const IDENT = /^[a-z][a-z0-9_]*$/;

/**
 * Checks where below the import root `proto add` would write a `.proto` file (the
 * command refuses other names first); returns a reason when it cannot become a proto.
 */
export function checkProtoPath(protoPath: string): string | undefined {
  const parts = protoPath.replace(/\.proto$/, '').split('/');
  if (parts.length < 2) return 'put the proto in a package directory, e.g. api/user/v1/user.proto';
  const bad = parts.find((p) => !IDENT.test(p));
  if (bad !== undefined) return `"${bad}" is not a valid proto package or file name (lower case letters, digits and _)`;
  return undefined;
}

function pascal(s: string): string {
  return s
    .split('_')
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

export function renderProtoTemplate({ protoPath }: ProtoTemplateInput): string {
  const pkg = protoPackageFor(protoPath);
  const base = protoPath
    .split('/')
    .pop()!
    .replace(/\.proto$/, '');
  const name = pascal(base);
  const plural = pluralOf(base);
  const one = `${article(base)} ${base}`;
  const version = protoPath.split('/').slice(-2, -1)[0]!;
  const prefix = /^v\d+/.test(version) ? `/${version}` : '';
  return `syntax = "proto3";

package ${pkg};

import "google/api/annotations.proto";

// ${name}Service manages ${plural}.
service ${name}Service {
  // Creates ${one}.
  rpc Create${name}(Create${name}Request) returns (Create${name}Reply) {
    option (google.api.http) = {
      post: "${prefix}/${plural}"
      body: "*"
    };
  }
  // Updates ${one}.
  rpc Update${name}(Update${name}Request) returns (Update${name}Reply) {
    option (google.api.http) = {
      put: "${prefix}/${plural}/{id}"
      body: "*"
    };
  }
  // Deletes ${one}.
  rpc Delete${name}(Delete${name}Request) returns (Delete${name}Reply) {
    option (google.api.http) = {
      delete: "${prefix}/${plural}/{id}"
    };
  }
  // Gets ${one} by its id.
  rpc Get${name}(Get${name}Request) returns (Get${name}Reply) {
    option (google.api.http) = {
      get: "${prefix}/${plural}/{id}"
    };
  }
  // Lists ${plural}.
  rpc List${name}(List${name}Request) returns (List${name}Reply) {
    option (google.api.http) = {
      get: "${prefix}/${plural}"
    };
  }
}

message ${name} {
  string id = 1;
  string name = 2;
}

message Create${name}Request {
  string name = 1;
}
message Create${name}Reply {
  ${name} ${base} = 1;
}

message Update${name}Request {
  string id = 1;
  string name = 2;
}
message Update${name}Reply {
  ${name} ${base} = 1;
}

message Delete${name}Request {
  string id = 1;
}
message Delete${name}Reply {}

message Get${name}Request {
  string id = 1;
}
message Get${name}Reply {
  ${name} ${base} = 1;
}

message List${name}Request {
  int32 page_size = 1;
  string page_token = 2;
}
message List${name}Reply {
  repeated ${name} ${plural} = 1;
  string next_page_token = 2;
}
`;
}

/** The English plural of a lower-case noun, for the collection's path: `orders`, `boxes`, `inventories`. */
function pluralOf(noun: string): string {
  if (/(s|x|z|ch|sh)$/.test(noun)) return `${noun}es`;
  if (/[^aeiou]y$/.test(noun)) return `${noun.slice(0, -1)}ies`;
  return `${noun}s`;
}

/** "a" or "an" before a lower-case noun, by its first sound: an order, an update, a user, a unit. */
function article(noun: string): string {
  if (/^[aeio]/.test(noun)) return 'an';
  // A "u" read as "you" (user, unit, usage) is followed by one consonant and a vowel.
  if (/^u/.test(noun)) return /^u[^aeiou][aeiouy]/.test(noun) ? 'a' : 'an';
  return 'a';
}
