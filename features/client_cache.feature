@acceptance @download_all
Feature: The client cache limits what can be downloaded before the start
  "Download all content locally before starting task sequence" puts every package into the client
  cache first; a cache smaller than a package, or without room left, stops the deployment with the
  client's cache errors before anything runs.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100110 references these packages:
      | package  | name                     | type               | size   |
      | PS100111 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100112 | Surface drivers          | Driver package     | 1.5 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100111 | 40 minutes |
      | Apply drivers            | Run Command Line         | PS100112 | 5 minutes  |
    And the packages are distributed to the CMG
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"

  @behaviour:B-25 @behaviour:B-26
  Scenario Outline: Download all content with a <cache> client cache
    Given an internet client CLIENT16 with a client cache of <cache>
    When the user installs the deployment from Software Center
    Then the task sequence <outcome>

    Examples:
      | cache    | outcome                                                     |
      | 3 GB     | does not start and fails with 0x87D01202                    |
      | 4 GB     | does not start and fails with 0x87D01201                    |
      | 5120 MB  | succeeds                                                    |
