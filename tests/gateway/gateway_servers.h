// The two in-process servers every gateway test over real sockets starts: a ReplayUpstream
// (recorded answers) and a Gateway, each on an http::HttpServer on 127.0.0.1 with port 0.
// GatewayRig (gateway_test_util.h) builds on them; tests that need another store, config, clock or
// predictor use them directly. The `clearhouse serve` tests start the real binaries instead
// (tests/cli/serve_test_util.h): they test the process, these the library.
//
// Thread-safety: construct and destroy on the test's thread; the servers answer on their own
// threads.
#pragma once

#include <memory>
#include <utility>

#include "gateway/gateway.h"
#include "http/server.h"
#include "tools/replay_upstream.h"
#include "tools/replay_upstream_store.h"

namespace clearhouse::gateway::testing {

// A ReplayUpstream serving store; paced and delayed on `pacing` (InstantPacingClock: no real time).
class ReplayServer {
 public:
  ReplayServer(std::shared_ptr<const tools::ReplayStore> store,
               tools::ReplayUpstreamOptions options, std::shared_ptr<tools::PacingClock> pacing)
      : replay_(std::move(store), std::move(options), std::move(pacing)),
        server_(http::HttpServerOptions{},
                [this](const http::HttpRequest& r) { return replay_.handle(r); }) {
    port_ = server_.bind();
    server_.start();
  }
  ~ReplayServer() {
    replay_.shutdown();  // delays and paced streams end at once
    server_.stop();
  }
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] tools::ReplayUpstream& upstream() { return replay_; }
  // Stops serving (waits for the requests being answered); the destructor does it too.
  void stop() { server_.stop(); }

 private:
  tools::ReplayUpstream replay_;
  http::HttpServer server_;
  int port_ = 0;
};

// A Gateway built from gateway_args (Gateway's constructor arguments), served with server_options.
class GatewayServer {
 public:
  // As `serve` does: the API key is checked on the request's head.
  template <typename... GatewayArgs>
  explicit GatewayServer(http::HttpServerOptions server_options, GatewayArgs&&... gateway_args)
      : gateway_(std::forward<GatewayArgs>(gateway_args)...),
        server_(with_admit_head(std::move(server_options)),
                [this](const http::HttpRequest& r) { return gateway_.handle_async(r); }) {
    port_ = server_.bind();
    server_.start();
  }
  ~GatewayServer() { server_.stop(); }  // before the gateway goes
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] Gateway& gateway() { return gateway_; }
  [[nodiscard]] const http::HttpServer& server() const { return server_; }
  // Stops serving (waits for the requests being answered), keeping the gateway.
  void stop() { server_.stop(); }

 private:
  http::HttpServerOptions with_admit_head(http::HttpServerOptions options) {
    options.admit_head = [this](http::HttpRequest& head) { return gateway_.admit_head(head); };
    return options;
  }

  Gateway gateway_;
  http::HttpServer server_;
  int port_ = 0;
};

}  // namespace clearhouse::gateway::testing
