// GraphiQL on this server's own /graphql: queries and mutations over HTTP,
// subscriptions over its WebSocket. The bearer token goes in the Headers tab
// as {"Authorization": "Bearer <token>"}, or in the address's fragment
// (/graphql#token=<token>), which the browser never sends to the server;
// subscriptions take it from the fragment only.
(function () {
  "use strict";
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  var headers = token ? { Authorization: "Bearer " + token } : null;
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var fetcher = GraphiQL.createFetcher({
    url: "/graphql",
    wsClient: graphqlWs.createClient({
      url: scheme + window.location.host + "/graphql",
      lazy: true,
      connectionParams: function () {
        return headers || {};
      },
    }),
  });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultHeaders: headers ? JSON.stringify(headers, null, 2) : undefined,
      shouldPersistHeaders: false,
    }),
  );
})();
