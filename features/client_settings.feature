@acceptance @fallback
Feature: Client settings and where the client thinks it is
  A client is on the internet when it cannot reach an on-premises management point, or when it is
  forced there with ClientAlwaysOnInternet; it uses the CMG only if its Cloud Services client
  settings allow it.

  Background:
    Given the site runs Configuration Manager version 1910
    And the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100130 references these packages:
      | package  | name                     | type               | size   |
      | PS100131 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100131 | 40 minutes |
    And the packages are distributed to the CMG and the on-premises distribution point
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"

  @behaviour:B-11
  Scenario: A client forced onto the internet uses the CMG even where the intranet is reachable
    Given an intranet client CLIENT18 with client setting "ClientAlwaysOnInternet" set to Yes
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the CMG
    And the client talked to the site only through the CMG

  @behaviour:B-12
  Scenario: An internet client that may not use a CMG cannot reach its site
    Given an internet client CLIENT19 with client setting "Enable clients to use a cloud management gateway" set to No
    When the user installs the deployment from Software Center
    Then the task sequence does not start and fails with 0x80072EE7
    And the client never contacted the CMG

  @behaviour:B-13 @behaviour:B-17
  Scenario: An intranet client allowed to use cloud distribution points still prefers the on-premises DP
    Given an intranet client CLIENT20 with client setting "Allow access to cloud distribution point" set to Yes
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the on-premises distribution point
