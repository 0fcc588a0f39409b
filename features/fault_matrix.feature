@acceptance @fallback @faults
Feature: Every fault against both deployment options
  The same fault lands differently depending on the deployment option. On demand, the task sequence engine
  downloads when a step needs the content and retries SMSTSDownloadRetryCount times, SMSTSDownloadRetryDelay
  apart (B-31). With "Download all content locally before starting task sequence" the client's own
  CAS/DTS path downloads before the task sequence starts; the engine's retry variables do not apply to it, a
  failed manifest is 0x87D0027E (B-32), and the task sequence does not start.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100270 references these packages:
      | package  | name                     | type               | size   |
      | PS100271 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100271 | 40 minutes |
    And the packages are distributed to the CMG
    And an internet client CLIENT91
    And the site runs Configuration Manager version 2010

  @behaviour:B-10 @behaviour:B-31 @behaviour:B-49
  Scenario Outline: <fault>: on demand the step fails after its retries
    Given the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And <fault>
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with <code>
    And the download of PS100271 from the CMG is tried 3 times, at least 15 seconds apart

    Examples:
      | fault                                                                | code       |
      | the CMG's content service fails every request with 500               | 0x801901F4 |
      | the CMG's content service fails every request with 404               | 0x80190194 |
      | the CMG has the TLS 1.2 content download defect of 1906 and 1910 early ring | 0x80190190 |
      | the content is missing from the CMG's storage account                | 0x80190194 |
      | every connection to Azure storage is reset                           | 0x80072EFE |

  @behaviour:B-10 @behaviour:B-30 @behaviour:B-32 @behaviour:B-47
  Scenario Outline: <fault>: with download all the task sequence does not start
    Given the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    And <fault>
    When the user installs the deployment from Software Center
    Then the task sequence does not start and fails with <code>
    And the download of PS100271 from the CMG is tried 1 times, at least 15 seconds apart

    Examples:
      | fault                                                                | code       |
      | the CMG's content service fails every request with 500               | 0x87D0027E |
      | the CMG's content service fails every request with 404               | 0x87D0027E |
      | the CMG has the TLS 1.2 content download defect of 1906 and 1910 early ring | 0x87D0027E |
      | the content is missing from the CMG's storage account                | 0x87D0027E |
      | every connection to Azure storage is reset                           | 0x80072EFE |
      | every connection to Azure storage stalls and is closed after 5 minutes | 0x80072EFE |
      | Azure storage throttles the next 1 request for PS100271              | 0x801901F7 |
      | Azure storage corrupts the next download of PS100271                 | 0x80091007 |

  @behaviour:B-30 @behaviour:B-31 @behaviour:B-34 @behaviour:B-47
  Scenario Outline: <fault>: on demand a retry rides it out
    Given the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And <fault>
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100271 from the CMG is tried 2 times, at least 15 seconds apart

    Examples:
      | fault                                                   |
      | Azure storage throttles the next 1 request for PS100271 |
      | Azure storage corrupts the next download of PS100271    |
      | Azure storage cuts the next download of PS100271 after 1 GB |
      | every connection to Azure storage is cut after 2 GB     |

  @behaviour:B-46
  Scenario Outline: <fault>: both options succeed (<content>)
    Given the task sequence is deployed as Available with "<option>"
    And <fault>
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100271 from the CMG is tried 1 times, at least 15 seconds apart

    Examples:
      | fault                                                         | content          | option                                                            |
      | the CMG's content service answers the next request 10 minutes late | on demand        | Download content locally when needed by the running task sequence |
      | the CMG's content service answers the next request 10 minutes late | downloaded first | Download all content locally before starting task sequence        |
      | Azure storage sends in pieces of 64 KB on the wire, 1 second apart | on demand        | Download content locally when needed by the running task sequence |
      | Azure storage sends in pieces of 64 KB on the wire, 1 second apart | downloaded first | Download all content locally before starting task sequence        |

  @behaviour:B-31 @behaviour:B-47
  Scenario: Storage that throttles at random is ridden out by enough retries
    Given the task sequence variable SMSTSDownloadRetryCount is 10
    And the task sequence variable SMSTSDownloadRetryDelay is 5
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And Azure storage throttles 50 % of the requests for PS100271 at random, seeded with 7
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every request Azure storage throttled for PS100271 cost the client one more attempt
