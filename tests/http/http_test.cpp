// The HTTP layer without sockets: router, OpenAI error bodies, JSON depth limit, invalid UTF-8 in
// requests, SSE framing and parsing.
#include "http/http.h"

#include <gtest/gtest.h>

#include <string>

#include "base/utf8.h"
#include "http/sse.h"

namespace clearhouse::http {
namespace {

using nlohmann::json;

TEST(Http, ErrorBodiesHaveOpenAIsFourFields) {
  const json b = error_body(400, "bad cap", "", "max_tokens");
  EXPECT_EQ(b, json::parse(R"({"error": {"message": "bad cap", "type": "invalid_request_error",
                                "param": "max_tokens", "code": null}})"));
  EXPECT_EQ(error_body(401, "x")["error"]["type"], "authentication_error");
  EXPECT_EQ(error_body(429, "x")["error"]["type"], "rate_limit_error");
  EXPECT_EQ(error_body(502, "x")["error"]["type"], "server_error");
  EXPECT_EQ(error_body(500, "x", "", "", "c")["error"]["code"], "c");
  const HttpResponse r = error_response(HttpError(404, "gone", "", "", "nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "nope");
}

TEST(Http, HeadersAreCaseInsensitive) {
  HttpRequest r{"GET", "/", {{"X-Replay-Qid", "a"}, {"x-replay-qid", "b"}}, ""};
  EXPECT_EQ(r.header("x-REPLAY-qid"), "a");
  EXPECT_TRUE(r.has_header("X-REPLAY-QID"));
  EXPECT_EQ(r.header("missing"), "");
  EXPECT_FALSE(r.has_header("missing"));
}

TEST(Http, JsonBodyDepthIsLimited) {
  EXPECT_EQ(parse_json_body(R"({"a": [1, {"b": 2}]})")["a"][1]["b"], 2);
  const auto nested = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
  };
  EXPECT_NO_THROW(parse_json_body("{\"x\":" + nested(kMaxJsonDepth - 1) + "}"));
  EXPECT_THROW(parse_json_body("{\"x\":" + nested(kMaxJsonDepth) + "}"), HttpError);
  // Brackets in strings, escaped quotes among them, are text, not nesting.
  const std::string brackets(static_cast<std::size_t>(kMaxJsonDepth) * 2, '[');
  EXPECT_EQ(parse_json_body(R"({"x": "\")" + brackets + R"(", "y": "{{\\"})")["y"], "{{\\");
  try {
    parse_json_body("{\"x\":" + nested(100000) + "}");
    ADD_FAILURE() << "accepted deep JSON";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("deeper"), std::string::npos);
  }
  EXPECT_THROW(parse_json_body("{"), HttpError);
  EXPECT_THROW(parse_json_body("3"), HttpError);
  EXPECT_THROW(parse_json_body(""), HttpError);
}

TEST(Http, RouterDispatchesAndWrapsExceptions) {
  Router router;
  router.add("GET", "/ok", "ok", [](const HttpRequest&) {
    return json_response(200, {{"ok", true}});
  });
  router.add("POST", "/http-error", "http_error",
             [](const HttpRequest&) -> HttpResponse { throw HttpError(422, "nope", "", "field"); });
  router.add("POST", "/bug", "bug",
             [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
  EXPECT_EQ(router.handle({"GET", "/ok", {}, ""}).body, R"({"ok":true})");
  const HttpResponse e = router.handle({"POST", "/http-error", {}, ""});
  EXPECT_EQ(e.status, 422);
  EXPECT_EQ(json::parse(e.body)["error"]["param"], "field");
  const HttpResponse bug = router.handle({"POST", "/bug", {}, ""});
  EXPECT_EQ(bug.status, 500);
  EXPECT_EQ(json::parse(bug.body)["error"]["type"], "server_error");
  EXPECT_EQ(router.handle({"POST", "/ok", {}, ""}).status, 405);
  EXPECT_EQ(router.handle({"GET", "/other", {}, ""}).status, 404);
}

TEST(Http, RouterLabelsEachPathOnceAndUnknownPathsAsOther) {
  Router router;
  router.add("GET", "/a", "first", [](const HttpRequest&) { return json_response(200, {}); });
  router.add("POST", "/a", "first", [](const HttpRequest&) { return json_response(200, {}); });
  router.add("GET", "/b", "second", [](const HttpRequest&) { return json_response(200, {}); });
  EXPECT_EQ(router.label_of({"POST", "/a", {}, ""}), "first");
  EXPECT_EQ(router.label_of({"DELETE", "/b", {}, ""}), "second");
  EXPECT_EQ(router.label_of({"GET", "/client/chosen/path", {}, ""}), Router::kOtherLabel);
  EXPECT_EQ(router.labels(), (std::vector<std::string>{"first", "second", "other"}));
}

TEST(Http, CallHandlerTurnsExceptionsIntoErrorBodies) {
  const HttpRequest request{"GET", "/", {}, ""};
  EXPECT_EQ(
      call_handler([](const HttpRequest&) -> HttpResponse { throw HttpError(418, "tea"); }, request)
          .status,
      418);
  const HttpResponse bug = call_handler(
      [](const HttpRequest&) -> HttpResponse { throw std::logic_error("boom"); }, request);
  EXPECT_EQ(bug.status, 500);
  EXPECT_EQ(json::parse(bug.body)["error"]["type"], "server_error");
}

TEST(Utf8, FirstInvalidByteIsFound) {
  EXPECT_EQ(base::first_invalid_utf8("plain ascii"), std::nullopt);
  EXPECT_EQ(base::first_invalid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::nullopt);
  EXPECT_EQ(base::first_invalid_utf8("ab\xff"), 2u);            // never in UTF-8
  EXPECT_EQ(base::first_invalid_utf8("\x80"), 0u);              // a continuation byte first
  EXPECT_EQ(base::first_invalid_utf8("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(base::first_invalid_utf8("\xe0\x80\xaf"), 0u);      // overlong again
  EXPECT_EQ(base::first_invalid_utf8("\xed\xa0\x80"), 0u);      // a surrogate, U+D800
  EXPECT_EQ(base::first_invalid_utf8("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(base::first_invalid_utf8("x\xe2\x82"), 1u);         // cut short
  EXPECT_EQ(base::first_invalid_utf8("\xc3("), 0u);             // a bad continuation
}

TEST(Http, InvalidUtf8InABodyIsAClear400) {
  for (const std::string& body : {std::string("{\"messages\": \"caf\xe9\"}"),  // Latin-1
                                  std::string("{\"a\": 1}\xff"), std::string("\xff")}) {
    try {
      (void)parse_json_body(body);
      ADD_FAILURE() << "accepted invalid UTF-8";
    } catch (const HttpError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.type(), "invalid_request_error");
      EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
      // The error response carries no byte of the body and never throws.
      const HttpResponse r = error_response(e);
      EXPECT_EQ(json::parse(r.body)["error"]["type"], "invalid_request_error");
    }
  }
  // Valid UTF-8 that is not JSON is still reported as JSON.
  try {
    (void)parse_json_body("{\"caf\xc3\xa9\": }");
    ADD_FAILURE() << "accepted invalid JSON";
  } catch (const HttpError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(Http, ResponsesEchoingInvalidUtf8NeverThrow) {
  EXPECT_EQ(to_response_text(json{{"m",
                                   "a\xff"
                                   "b"}}),
            "{\"m\":\"a\xef\xbf\xbd"
            "b\"}");
  const HttpResponse r = error_response(404, "no route for GET /\xc3(");
  EXPECT_EQ(json::parse(r.body)["error"]["message"], "no route for GET /\xef\xbf\xbd(");
  Router router;
  router.add("POST", "/bug", "bug", [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("bad byte \xff from a client");
  });
  const HttpResponse bug = router.handle({"POST", "/bug", {}, ""});
  EXPECT_EQ(bug.status, 500);
  EXPECT_TRUE(json::accept(bug.body));
  const HttpResponse unknown = router.handle({"GET", "/\xff\xfe", {}, ""});
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(json::accept(unknown.body));
  const HttpResponse bad_method = router.handle({"\xff", "/bug", {}, ""});
  EXPECT_EQ(bad_method.status, 405);
  EXPECT_TRUE(json::accept(bad_method.body));
}

TEST(Sse, FramesAndParsesEvents) {
  EXPECT_EQ(sse_data(R"({"a":1})"), "data: {\"a\":1}\n\n");
  const std::string stream = sse_data("one") + ": a comment\n\n" +
                             "event: x\ndata: two\ndata: lines\n\n" + "data:three\r\n\r\n" +
                             std::string(kSseDone);
  EXPECT_EQ(parse_sse(stream), (std::vector<std::string>{"one", "two\nlines", "three", "[DONE]"}));
}

TEST(Sse, ParserAcceptsArbitraryPieces) {
  const std::string stream = sse_data("alpha") + sse_data("beta") + std::string(kSseDone);
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    SseParser parser;
    std::vector<std::string> events;
    for (std::size_t i = 0; i < stream.size(); i += step) {
      for (auto& e : parser.feed(std::string_view(stream).substr(i, step))) events.push_back(e);
    }
    EXPECT_EQ(events, (std::vector<std::string>{"alpha", "beta", "[DONE]"})) << step;
    EXPECT_FALSE(parser.has_partial_event());
  }
  SseParser cut;
  EXPECT_EQ(cut.feed("data: a\n\ndata: b"), std::vector<std::string>{"a"});
  EXPECT_TRUE(cut.has_partial_event());
}

}  // namespace
}  // namespace clearhouse::http
