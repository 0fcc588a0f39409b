@acceptance @timing @faults
Feature: Download timing in model time
  With Azure storage sending at most 100 Mbit/s, a 3.2 GB upgrade package takes 256 seconds to arrive.
  On demand the task sequence starts its first step at once and waits for each package when a step needs
  it; with "Download all content locally before starting task sequence" everything arrives first. Timings
  are model time: the fault proxy paces and delays the real bytes on the virtual clock, so they are judged to
  the second (with `--clock real`, with the tolerance measured on these machines: harness/model/timing.py).
  A blob's bytes weigh the model bytes of content they stand for, and a TLS handshake or a header only its own
  size: a connection's handshake costs 0.4 model milliseconds at 100 Mbit/s, at any scale.
  Latency is one-way, towards the client, per flight of data: the content listing goes over the CMG's open
  connection (one flight), the blob over a new TLS connection to storage (the handshake's flight, then the
  answer's).

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100210 references these packages:
      | package  | name                     | type               | size   |
      | PS100211 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100212 | Surface drivers          | Driver package     | 600 MB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100211 | 10 minutes |
      | Apply drivers            | Run Command Line         | PS100212 | 1 minute   |
    And the packages are distributed to the CMG
    And Azure storage sends at most 100 Mbit/s
    And an internet client CLIENT31

  @behaviour:B-24 @behaviour:B-46
  Scenario: On demand, the first step starts at once and each step waits for its own package
    Given the site runs Configuration Manager version 2010
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the first step starts at once after the task sequence starts
    And the download of PS100211 takes about 256 seconds
    And the step "Upgrade Operating System" starts about 120 seconds after the task sequence starts
    And the step "Upgrade Operating System" begins its work about 376 seconds after the task sequence starts
    And the step "Apply drivers" starts about 976 seconds after the task sequence starts
    And the step "Apply drivers" begins its work about 1024 seconds after the task sequence starts
    And the task sequence takes about 1084 seconds

  @behaviour:B-25
  Scenario: Download all, the content arrives before the task sequence starts
    Given the site runs Configuration Manager version 2010
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the pre-download phase takes between 300 seconds and 320 seconds
    And the first step starts at once after the task sequence starts
    And the step "Upgrade Operating System" starts about 120 seconds after the task sequence starts
    And the download of PS100211 takes about 256 seconds
    And the task sequence takes about 780 seconds

  @behaviour:B-46
  Scenario: A content service that answers 10 minutes late holds the download back 10 minutes
    Given the site runs Configuration Manager version 2010
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And the CMG's content service answers the next request 10 minutes late
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100211 takes about 856 seconds

  @behaviour:B-46
  Scenario: Latency towards the CMG delays its messages, not the bytes that come from storage
    Given the site runs Configuration Manager version 2010
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And the CMG sends at most 1000 Mbit/s with 2 minutes latency
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100211 takes about 376 seconds

  @behaviour:B-46
  Scenario: Latency towards storage delays both its TLS handshake and its answer
    Given the site runs Configuration Manager version 2010
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And Azure storage sends at most 100 Mbit/s with 2 minutes latency
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100211 takes about 496 seconds

  @behaviour:B-15
  Scenario: An intranet client gets its package from the on-premises DP at the speed of the DP's link
    Given the site runs Configuration Manager version 2010
    And the packages are distributed to the on-premises distribution point
    And the management point sends at most 100 Mbit/s
    And an intranet client CLIENT32
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100211 takes about 256 seconds
    And the step "Apply drivers" starts about 976 seconds after the task sequence starts
