// Many PostgreSQL queries at once over a few connections, with libpq's plain blocking API,
// unmodified, made cooperative by gevent::monkey. A gevent::Pool runs one greenlet per query,
// as many at a time as there are connections; a Queue lends each query a connection.
//
//   build/bin/pg_queries "host=127.0.0.1 user=postgres dbname=postgres" --connections 10
#include "command_line.hpp"

#include <libpq-fe.h>
#include <gevent/gevent.hpp>
#include <gevent/monkey.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr char usage[] = R"(usage: pg_queries CONNINFO [--connections N] [--queries M]

Runs M queries (each SELECT n * n after pg_sleep(0.1)) over N libpq connections at once, one
greenlet per query, and prints each result as it arrives and the time taken.

  CONNINFO           libpq connection string, e.g. "host=127.0.0.1 user=postgres"
  --connections N    connections, and so queries at a time (default 10)
  --queries M        queries (default 50)
  -h, --help         print this help and exit
)";

struct Options {
  bool help = false;
  std::string conninfo;
  int connections = 10;
  int queries = 50;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (example::help_requested(arg, options.help)) return options;
    if (arg == "--connections")
      options.connections = example::number(arg, example::value_after(i, argc, argv));
    else if (arg == "--queries")
      options.queries = example::number(arg, example::value_after(i, argc, argv));
    else if (arg.starts_with("-") || !options.conninfo.empty())
      example::reject_argument(arg);
    else
      options.conninfo = arg;
  }
  if (options.conninfo.empty()) throw example::UsageError("expected CONNINFO");
  example::check_at_least("--connections", options.connections, 1);
  example::check_at_least("--queries", options.queries, 1);
  return options;
}

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Connections lent to one query at a time.
class Connections {
 public:
  Connections(const std::string& conninfo, int count) {
    for (int i = 0; i < count; ++i) {
      Connection c(PQconnectdb(conninfo.c_str()), PQfinish);  // blocks only this greenlet
      if (PQstatus(c.get()) != CONNECTION_OK)
        throw std::runtime_error(std::string("cannot connect: ") + PQerrorMessage(c.get()));
      idle_.put(c.get());
      all_.push_back(std::move(c));
    }
  }

  // A connection for as long as it lives.
  class Lease {
   public:
    explicit Lease(Connections& from) : from_(from), conn_(from.idle_.get()) {}
    ~Lease() { from_.idle_.put(conn_); }
    PGconn* get() const { return conn_; }

   private:
    Connections& from_;
    PGconn* conn_;
  };

 private:
  std::vector<Connection> all_;
  gevent::Queue<PGconn*> idle_;
};

long long square_slowly(Connections& connections, int n) {
  Connections::Lease conn(connections);
  const std::string text = std::to_string(n);
  const char* params[] = {text.c_str()};
  Result result(PQexecParams(conn.get(), "SELECT $1::bigint * $1::bigint FROM pg_sleep(0.1)", 1,
                             nullptr, params, nullptr, nullptr, 0),
                PQclear);
  if (PQresultStatus(result.get()) != PGRES_TUPLES_OK)
    throw std::runtime_error(std::string("query failed: ") + PQerrorMessage(conn.get()));
  return std::stoll(PQgetvalue(result.get(), 0, 0));
}

}  // namespace

int main(int argc, char** argv) {
  return example::run("pg_queries", usage, [&] {
    const Options options = parse(argc, argv);
    if (options.help) return example::print_usage(usage);
    gevent::monkey::patch_all();
    Connections connections(options.conninfo, options.connections);
    std::vector<int> numbers(static_cast<std::size_t>(options.queries));
    std::iota(numbers.begin(), numbers.end(), 1);
    const auto start = std::chrono::steady_clock::now();
    gevent::Pool queries(static_cast<std::size_t>(options.connections));
    long long sum = 0;
    for (long long square :
         queries.imap_unordered([&](int n) { return square_slowly(connections, n); }, numbers)) {
      std::printf("%lld\n", square);
      sum += square;
    }
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("%d queries over %d connections: sum %lld in %.2f s (one connection: %.2f s)\n",
                options.queries, options.connections, sum, took.count(), options.queries * 0.1);
    return 0;
  });
}
