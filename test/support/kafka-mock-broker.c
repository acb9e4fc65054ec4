/*
 * A standalone Kafka-protocol broker for weir's tests: librdkafka's mock cluster in its own process.
 *
 *   kafka-mock-broker [--brokers N] [topic:partitions ...]
 *
 * Prints one line, the bootstrap address ("127.0.0.1:port,..."), then reads commands on stdin, one
 * per line, answering each with one line on stdout:
 *   topic <name> <partitions>   create a topic (admin CreateTopics is not supported by the mock)
 *                               -> "ok" or "error <reason>"
 * and exits when stdin closes (so a crashed test never leaves a broker behind).
 *
 * librdkafka 2.0.x's mock reports controller id 0 in metadata while its brokers are 1..N, so
 * kafkajs fails every admin call and the idempotent/transactional producer with "Broker 0 not
 * found in the cached metadata". The cluster struct begins
 * `char id[32]; rd_kafka_t *rk; int32_t controller_id;`: after checking that the field sits where
 * expected (the rk pointer matches and the id is 0 or -1), we set it to 1.
 *
 * Build: gcc -O2 -o kafka-mock-broker kafka-mock-broker.c $(pkg-config --cflags --libs rdkafka)
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The head of librdkafka's (private) struct rd_kafka_mock_cluster_s, 1.x and 2.0.x. */
struct mock_cluster_head {
  char id[32];
  rd_kafka_t *rk;
  int32_t controller_id;
};

static int create_topic(rd_kafka_mock_cluster_t *mcluster, const char *name, int partitions) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster, name, partitions, 1);
  if (err) {
    printf("error %s\n", rd_kafka_err2str(err));
    fflush(stdout);
    return -1;
  }
  return 0;
}

/* Parse "name:partitions" into name (in place) and a partition count (default 1). */
static int parse_topic_arg(char *arg, int *partitions) {
  char *colon = strrchr(arg, ':');
  *partitions = 1;
  if (colon != NULL) {
    *colon = '\0';
    *partitions = atoi(colon + 1);
  }
  return (*arg != '\0' && *partitions > 0) ? 0 : -1;
}

int main(int argc, char **argv) {
  int broker_cnt = 1;
  char errstr[512];
  int first_topic = 1;

  if (argc > 2 && strcmp(argv[1], "--brokers") == 0) {
    broker_cnt = atoi(argv[2]);
    first_topic = 3;
    if (broker_cnt < 1) {
      fprintf(stderr, "kafka-mock-broker: --brokers must be a positive integer, got %s\n", argv[2]);
      return 2;
    }
  }

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* Quiet: librdkafka logs to stderr, which the test harness reads for failures. */
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "kafka-mock-broker: rd_kafka_new failed: %s\n", errstr);
    return 1;
  }

  rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, broker_cnt);
  if (mcluster == NULL) {
    fprintf(stderr, "kafka-mock-broker: rd_kafka_mock_cluster_new failed\n");
    return 1;
  }

  struct mock_cluster_head *head = (struct mock_cluster_head *)mcluster;
  if (head->rk == rk && (head->controller_id == 0 || head->controller_id == -1)) {
    head->controller_id = 1;
  } else if (!(head->rk == rk && head->controller_id >= 1 && head->controller_id <= broker_cnt)) {
    fprintf(stderr, "kafka-mock-broker: unexpected mock cluster layout (librdkafka %s); cannot fix the controller id\n",
            rd_kafka_version_str());
    return 1;
  }

  for (int i = first_topic; i < argc; i++) {
    int partitions;
    if (parse_topic_arg(argv[i], &partitions) != 0) {
      fprintf(stderr, "kafka-mock-broker: expected topic:partitions, got %s\n", argv[i]);
      return 2;
    }
    if (create_topic(mcluster, argv[i], partitions) != 0) return 1;
  }

  printf("%s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
  fflush(stdout);

  char line[1024];
  while (fgets(line, sizeof(line), stdin) != NULL) {
    char name[512];
    int partitions;
    if (sscanf(line, "topic %511s %d", name, &partitions) == 2 && partitions > 0) {
      if (create_topic(mcluster, name, partitions) == 0) {
        printf("ok\n");
        fflush(stdout);
      }
    } else if (line[0] != '\n') {
      printf("error unknown command\n");
      fflush(stdout);
    }
  }

  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  return 0;
}
