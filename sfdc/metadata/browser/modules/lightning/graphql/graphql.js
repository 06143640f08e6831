// lightning/graphql backed by the simulated org's GraphQL endpoint
// (POST /graphql). The wire emits {data, errors} as the platform's does;
// refreshGraphQL(result) re-runs the query behind a value the wire emitted.
import { Adapter, request } from 'sbx/org';

// gql keeps the query text; the platform parses it into an AST, which
// components never read.
export function gql(strings, ...values) {
    let out = '';
    strings.forEach((s, i) => {
        out += s;
        if (i < values.length) {
            out += values[i];
        }
    });
    return out;
}

const owners = new WeakMap(); // emitted value -> adapter

class GraphQLAdapter extends Adapter {
    load(config) {
        if (!config || !config.query) {
            return new Promise(() => {});
        }
        const body = { query: config.query, variables: config.variables || {} };
        if (config.operationName) {
            body.operationName = config.operationName;
        }
        return request('POST', '/graphql', body).then((res) => this.result(res.errors && res.errors.length ? undefined : res.data, res.errors && res.errors.length ? res.errors : undefined));
    }
    empty() {
        return this.result(undefined, undefined);
    }
    failed(error) {
        return this.result(undefined, [error && error.body ? error.body : error]);
    }
    result(data, errors) {
        const value = { data, errors, refresh: () => this.refresh() };
        owners.set(value, this);
        return value;
    }
}

export function graphql() {
    throw new Error('graphql is a wire adapter: use @wire(graphql, {query, variables})');
}
graphql.adapter = GraphQLAdapter;

export function refreshGraphQL(result) {
    const a = result && owners.get(result);
    return a ? a.refresh() : Promise.resolve();
}
